// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {IRootChain} from "../../src/interfaces/IRootChain.sol";
import {RootChain} from "../../src/RootChain.sol";
import {PaymentTx} from "../../src/libraries/PaymentTx.sol";
import {UtxoPos} from "../../src/libraries/UtxoPos.sol";
import {MockERC20} from "../mocks/Tokens.sol";
import {MerkleTree} from "../utils/MerkleTree.sol";
import {TxLib} from "../utils/TxLib.sol";
import {Vm, vm} from "../utils/Vm.sol";
import {RootChainHandler} from "./RootChainHandler.sol";

/// @notice The standard-exit handler plus in-flight payments and their exits. An honest operator either includes a
///         payment (its outputs become ordinary outputs) or never does (its input is then `InFlight` and its outputs
///         `Pending`, exitable only in flight). Dishonest users double-sign an input (a competitor), exit an input
///         they already signed away, or piggyback an output they already spent. Watchers react at once where MoreVP
///         needs them to (a competitor of an included payment is challenged, a challenge of an included payment is
///         answered, a piggyback of a spent output or of an input spent by an included payment is challenged);
///         other challenges, responses, deletions and piggybacks are random actions.
/// @dev Value is tracked per conflict group: the input of a never-included payment and the outputs of every
///      payment spending it share the input's value, of which at most that much may ever be paid. The invariants
///      read `expectedBalance`, `paidTwice`, `paidWrongly` and `paidOutOfOrder`.
contract InFlightHandler is RootChainHandler {
    struct Payment {
        bytes txBytes;
        bytes32 txHash;
        uint256 input; // index of its input output
        uint256[] outputs; // indices of its outputs
        bytes sig; // the input owner's signature
        bool included;
        uint256 txPos;
        bytes proof;
        uint256 competitor; // index + 1 of another payment spending the same input, or 0
        // Its in-flight exit, if any:
        bool active;
        address bondOwner;
        bool bondHeld;
        uint256 piggybacks; // bit i input i, bit 4 + j output j
    }

    uint256 public immutable inFlightBond;
    uint256 public immutable piggybackBondWei;

    Payment[] internal payments;
    mapping(bytes32 txHash => uint256 indexPlusOne) internal paymentOf;
    uint256[] internal groupValue; // group 0 is "none"
    uint256[] internal groupPaid;
    address[] internal groupToken;

    uint256 public heldInFlightBonds;
    uint256 public heldPiggybackBonds;
    uint256 public inFlightPayouts;
    uint256 public inFlightExitsProcessed;

    constructor(RootChain chain_, MockERC20 token_, address operator_)
        RootChainHandler(chain_, token_, operator_)
    {
        inFlightBond = chain_.inFlightExitBond();
        piggybackBondWei = chain_.piggybackBond();
        groupValue.push(0);
        groupPaid.push(0);
        groupToken.push(address(0));
    }

    // ================================================================ in-flight payments

    /// @notice An honest payment of an unspent output, paying a fee as `transfer`'s do: included in a block (ended by
    ///         the operator's fee claim, as `transfer`'s), or in flight forever (its fee then stays with the input's
    ///         group: no block claims it).
    /// @param feeSeed the fee, `claimSeed` the operator's claim (as `transfer`'s).
    function inFlightPay(
        uint256 utxoSeed,
        uint256 toSeed,
        uint256 split,
        bool include,
        uint256 txIndex,
        uint256 feeSeed,
        uint256 claimSeed
    ) external {
        (bool found, uint256 i) = _pick(utxoSeed, State.Unspent, true);
        if (!found) return;
        if (utxos[i].locked || _exitedOutput(utxos[i])) return;
        Utxo storage u = utxos[i];
        uint256 fee = _fee(u, feeSeed);
        PaymentTx.Transaction memory t = _inFlightSplit(u, toSeed, split, fee);
        uint256 p = _newPayment(t, i);
        if (include) {
            _include(p, t, txIndex, fee, claimSeed);
        } else {
            uint256 g = _newGroup(u.amount, u.token);
            u.state = State.InFlight;
            u.group = g;
            _addPendingOutputs(p, t, g, false);
        }
    }

    /// @dev A payment of `u` paying `fee`, split between an actor and change (`_paymentTx`'s metadata).
    function _inFlightSplit(Utxo storage u, uint256 toSeed, uint256 split, uint256 fee)
        internal
        view
        returns (PaymentTx.Transaction memory)
    {
        uint256 value = u.amount - fee;
        uint256 a = value == 1 ? 1 : 1 + split % (value - 1);
        return _paymentTx(u.pos, actors[toSeed % actors.length], a, u.owner, value - a, u.token);
    }

    /// @dev The operator includes payment `p` (`t`) in a block of its own, which ends with a fee claim if it paid
    ///      `fee` (`_commitBlock`): its input is spent, its outputs are ordinary outputs.
    function _include(
        uint256 p,
        PaymentTx.Transaction memory t,
        uint256 txIndex,
        uint256 fee,
        uint256 claimSeed
    ) internal {
        Payment storage pay = payments[p];
        Utxo storage u = utxos[pay.input];
        bytes[] memory txs = new bytes[](1);
        txs[0] = pay.txBytes;
        (uint256 blknum, uint256 index, bytes[] memory proofs) = _commitBlock(txs, txIndex, fee, claimSeed);
        (pay.included, pay.txPos, pay.proof) = (true, UtxoPos.encode(blknum, index, 0), proofs[0]);
        u.state = State.Spent;
        u.spendTx = pay.txBytes;
        u.spendSig = pay.sig;
        if (u.feeClaim) ++feeClaimsSpent;
        for (uint256 j; j < t.outputs.length; ++j) {
            PaymentTx.Output memory o = t.outputs[j];
            _add(
                pay.txPos + j, o.owner, _pkOf(_actorIndex(o.owner)), o.token, o.amount, pay.txBytes, pay.proof
            );
            pay.outputs.push(utxos.length - 1);
        }
    }

    /// @notice The input's owner signs a second payment of it (never included by an honest operator): a competitor.
    function doubleSign(uint256 paySeed, uint256 toSeed) external {
        if (payments.length == 0) return;
        uint256 p = paySeed % payments.length;
        if (payments[p].competitor != 0) return;
        Utxo storage input = utxos[payments[p].input];
        PaymentTx.Transaction memory t =
            _paymentTx(input.pos, actors[toSeed % actors.length], input.amount, address(0), 0, input.token);
        uint256 q = _newPayment(t, payments[p].input);
        // Competing with an included payment, its outputs are worth nothing; otherwise they share the group's value.
        _addPendingOutputs(q, t, input.group, payments[p].included);
        payments[p].competitor = q + 1;
        payments[q].competitor = p + 1;
    }

    /// @notice The owner of a never-included payment's input exits it anyway (a double dip), challenged at once by a
    ///         watcher with the payment's signature, or not (the exit game must then keep the value paid once).
    function exitInFlightInput(uint256 paySeed, bool challenge, uint256 challengerSeed) external {
        if (payments.length == 0) return;
        Payment storage pay = payments[paySeed % payments.length];
        Utxo storage u = utxos[pay.input];
        if (u.state != State.InFlight || _exitedOutput(u)) return;
        (IRootChain.ExitStatus status,,) = chain.getExit(u.pos);
        if (status != IRootChain.ExitStatus.None) return;
        vm.deal(u.owner, u.owner.balance + bond);
        vm.prank(u.owner);
        chain.startStandardExit{value: bond}(u.pos, u.txBytes, u.proof);
        u.exitPriority = (_expectedExitableAt(u.pos) << 128) | u.pos;
        indexOf[u.pos] = pay.input + 1;
        if (challenge) {
            vm.prank(actors[challengerSeed % 3]);
            chain.challengeStandardExit(u.pos, pay.txBytes, 0, pay.sig);
            ++challenges;
        } else {
            u.state = State.Exiting;
            ++activeStandardExits;
        }
    }

    // ================================================================ in-flight exits

    function startInFlightExit(uint256 paySeed, uint256 starterSeed, uint256 piggybackSeed) external {
        (bool found, uint256 p) = _pickPayment(paySeed, false);
        if (!found) return;
        Payment storage pay = payments[p];
        address starter = actors[starterSeed % 3];
        uint256 piggybacks = piggybackSeed % 4 != 0 ? _ownPiggybacks(pay, starter) : 0;
        uint256 value = inFlightBond + _popcount(piggybacks) * piggybackBondWei;
        vm.deal(starter, starter.balance + value);
        vm.prank(starter);
        _start(pay, value, piggybacks);
        pay.active = true;
        pay.bondOwner = starter;
        pay.bondHeld = true;
        pay.piggybacks = piggybacks;
        ++heldInFlightBonds;
        heldPiggybackBonds += _popcount(piggybacks);
        _lockPiggybacked(pay);
        _watch(p);
    }

    function _start(Payment storage pay, uint256 value, uint256 piggybacks) internal {
        Utxo storage input = utxos[pay.input];
        bytes[] memory inputTxs = new bytes[](1);
        bytes[] memory proofs = new bytes[](1);
        bytes[] memory sigs = new bytes[](1);
        (inputTxs[0], proofs[0], sigs[0]) = (input.txBytes, input.proof, pay.sig);
        chain.startInFlightExit{value: value}(pay.txBytes, inputTxs, proofs, sigs, piggybacks);
    }

    function piggyback(uint256 paySeed, uint256 indexSeed) external {
        (bool found, uint256 p) = _pickPayment(paySeed, true);
        if (!found) return;

        Payment storage pay = payments[p];
        if (!pay.active || block.timestamp >= _firstHalfEnd(pay.txHash)) return;
        uint256 k = indexSeed % (1 + pay.outputs.length);
        k = k == 0 ? 0 : 3 + k; // input 0, or output k - 1
        if ((pay.piggybacks >> k) & 1 == 1) return;
        Utxo storage u = utxos[k == 0 ? pay.input : pay.outputs[k - 4]];
        if (k >= 4 && _exitedOutput(u)) return;
        if (k >= 4 && u.state == State.Exiting) return;
        vm.deal(u.owner, u.owner.balance + piggybackBondWei);
        vm.prank(u.owner);
        if (k == 0) {
            chain.piggybackInFlightExitOnInput{value: piggybackBondWei}(_data(pay), 0);
        } else {
            chain.piggybackInFlightExitOnOutput{value: piggybackBondWei}(pay.txBytes, k - 4);
        }
        pay.piggybacks |= 1 << k;
        ++heldPiggybackBonds;
        _lockPiggybacked(pay);
        _watch(p);
    }

    function challengeNotCanonical(uint256 paySeed, uint256 challengerSeed) external {
        (bool found, uint256 p) = _pickPayment(paySeed, true);
        if (!found) return;

        if (!payments[p].active || payments[p].competitor == 0) return;
        _challenge(p, challengerSeed);
    }

    function challengeInputSpent(uint256 paySeed, uint256 challengerSeed) external {
        (bool found, uint256 p) = _pickPayment(paySeed, true);
        if (!found) return;

        Payment storage pay = payments[p];
        if (!pay.active || pay.piggybacks & 1 == 0 || pay.competitor == 0) return;
        _challengeInputSpent(p, pay.competitor - 1, challengerSeed);
    }

    function deleteInFlightExit(uint256 paySeed, uint256 callerSeed) external {
        (bool found, uint256 p) = _pickPayment(paySeed, true);
        if (!found) return;
        Payment storage pay = payments[p];
        if (!pay.bondHeld || pay.piggybacks != 0) return;
        if (block.timestamp < _firstHalfEnd(pay.txHash)) return;
        (,,,, bool processing,) = chain.getInFlightExit(pay.txHash);
        if (processing) return;
        vm.prank(actors[callerSeed % actors.length]);
        chain.deleteInFlightExit(_data(pay));
        pay.bondHeld = false;
        --heldInFlightBonds;
    }

    /// @notice Process the queue: standard exits through `processExits`, in-flight entries through
    ///         `processInFlightExit` with the exit's public data.
    function processExits(uint256 tokenSeed, uint256 maxExits) external override {
        address tkn = tokenSeed % 2 == 0 ? address(0) : address(token);
        maxExits = 1 + maxExits % 8;
        for (uint256 n; n < maxExits; ++n) {
            if (!_checkTop(tkn)) return;
            (uint256 exitableAt, uint256 position, bool inFlight) = chain.exitQueueTop(tkn);
            vm.recordLogs();
            if (inFlight) {
                Payment storage pay = payments[_inFlightAtTop(tkn, exitableAt, position)];
                // The processor takes the bond of any standard exit of an input that the payout closes.
                vm.prank(actors[(tokenSeed >> 1) % actors.length]);
                chain.processInFlightExit(tkn, _data(pay));
                ++inFlightExitsProcessed;
            } else {
                chain.processExits(tkn, 1);
            }
            _recordLogs(vm.getRecordedLogs(), tkn);
        }
    }

    // ================================================================ accounting

    function _recordLogs(Vm.Log[] memory logs, address tkn) internal override {
        super._recordLogs(logs, tkn);
        for (uint256 k; k < logs.length; ++k) {
            if (logs[k].emitter != address(chain)) continue;
            bytes32 topic = logs[k].topics[0];
            if (topic == IRootChain.InFlightExitInputWithdrawn.selector) {
                _withdrawn(logs[k], false);
            } else if (topic == IRootChain.InFlightExitOutputWithdrawn.selector) {
                _withdrawn(logs[k], true);
            } else if (topic == IRootChain.InFlightExitProcessed.selector) {
                Payment storage pay = payments[paymentOf[logs[k].topics[1]] - 1];
                (, bool finished) = abi.decode(logs[k].data, (bool, bool));
                if (pay.bondHeld) {
                    pay.bondHeld = false;
                    --heldInFlightBonds;
                }
                if (finished) (pay.active, pay.piggybacks) = (false, 0);
            } else if (topic == IRootChain.ExitChallenged.selector) {
                // A standard exit of an input closed by an in-flight payout; its bond went to the processor.
                Utxo storage u = utxos[indexOf[uint256(logs[k].topics[1])] - 1];
                if (u.state == State.Exiting) {
                    u.state = u.group != 0 ? State.InFlight : State.Challenged;
                    --activeStandardExits;
                }
            }
        }
    }

    function _withdrawn(Vm.Log memory log, bool isOutput) internal {
        Payment storage pay = payments[paymentOf[log.topics[1]] - 1];
        (uint256 index, address owner, address t, uint256 amount, IRootChain.PiggybackOutcome outcome) =
            abi.decode(log.data, (uint256, address, address, uint256, IRootChain.PiggybackOutcome));
        uint256 i = isOutput ? pay.outputs[index] : pay.input;
        --heldPiggybackBonds;
        pay.piggybacks &= ~(1 << (isOutput ? 4 + index : index));
        utxos[i].locked = false;
        if (outcome == IRootChain.PiggybackOutcome.Unfunded) paidWrongly = true; // never with an honest operator
        if (outcome != IRootChain.PiggybackOutcome.Paid && outcome != IRootChain.PiggybackOutcome.Credited) {
            return;
        }
        Utxo storage u = utxos[i];
        if (u.owner != owner || u.token != t || u.amount != amount) paidWrongly = true;
        ++inFlightPayouts;
        _paid(i, amount);
    }

    function _paid(uint256 i, uint256 amount) internal override {
        uint256 g = utxos[i].group;
        super._paid(i, amount);
        if (g != 0) {
            groupPaid[g] += amount;
            if (groupPaid[g] > groupValue[g]) paidWrongly = true;
        }
    }

    function expectedBalance(address tkn) public view override returns (uint256 total) {
        total = super.expectedBalance(tkn);
        for (uint256 g = 1; g < groupValue.length; ++g) {
            if (groupToken[g] == tkn && groupValue[g] > groupPaid[g]) total += groupValue[g] - groupPaid[g];
        }
    }

    function _otherBonds() internal view override returns (uint256) {
        return heldInFlightBonds * inFlightBond + heldPiggybackBonds * piggybackBondWei;
    }

    function paymentCount() external view returns (uint256) {
        return payments.length;
    }

    // ================================================================ internals

    function _paymentTx(uint256 input, address to, uint256 a, address changeTo, uint256 b, address tkn)
        internal
        view
        returns (PaymentTx.Transaction memory)
    {
        uint256[] memory inputs = new uint256[](1);
        inputs[0] = input;
        PaymentTx.Output[] memory outputs = new PaymentTx.Output[](b == 0 ? 1 : 2);
        outputs[0] = TxLib.output(to, tkn, a);
        if (b != 0) outputs[1] = TxLib.output(changeTo, tkn, b);
        return TxLib.payment(inputs, outputs, keccak256(abi.encode("in flight", payments.length)));
    }

    function _newPayment(PaymentTx.Transaction memory t, uint256 input) internal returns (uint256 p) {
        p = payments.length;
        payments.push();
        Payment storage pay = payments[p];
        pay.txBytes = TxLib.encode(t);
        pay.txHash = keccak256(pay.txBytes);
        pay.input = input;
        pay.sig = TxLib.sign(t, address(chain), utxos[input].ownerPk);
        paymentOf[pay.txHash] = p + 1;
    }

    /// @dev The first payment at or after `seed` whose exit is `active` (or not), if any.
    function _pickPayment(uint256 seed, bool active) internal view returns (bool found, uint256 p) {
        uint256 n = payments.length;
        for (uint256 k; k < n; ++k) {
            p = (seed % n + k) % n;
            if (payments[p].active == active) return (true, p);
        }
        return (false, 0);
    }

    function _newGroup(uint256 value, address tkn) internal returns (uint256 g) {
        g = groupValue.length;
        groupValue.push(value);
        groupPaid.push(0);
        groupToken.push(tkn);
    }

    /// @dev Outputs of a never-included payment: `Pending`, in group `g`, or worth nothing (`phantom`).
    function _addPendingOutputs(uint256 p, PaymentTx.Transaction memory t, uint256 g, bool phantom) internal {
        Payment storage pay = payments[p];
        for (uint256 j; j < t.outputs.length; ++j) {
            PaymentTx.Output memory o = t.outputs[j];
            utxos.push();
            Utxo storage u = utxos[utxos.length - 1];
            (u.pos, u.owner, u.ownerPk, u.token, u.amount) =
            (j, o.owner, _pkOf(_actorIndex(o.owner)), o.token, o.amount);
            (u.state, u.txBytes, u.group, u.phantom) = (State.Pending, pay.txBytes, phantom ? 0 : g, phantom);
            pay.outputs.push(utxos.length - 1);
        }
    }

    /// @dev The starter's own piggybacks that the contract accepts at start.
    function _ownPiggybacks(Payment storage pay, address starter) internal view returns (uint256 piggybacks) {
        if (utxos[pay.input].owner == starter) piggybacks = 1;
        for (uint256 j; j < pay.outputs.length; ++j) {
            Utxo storage u = utxos[pay.outputs[j]];
            if (u.owner == starter && u.state != State.Exiting && !_exitedOutput(u)) {
                piggybacks |= 1 << (4 + j);
            }
        }
    }

    function _lockPiggybacked(Payment storage pay) internal {
        for (uint256 j; j < pay.outputs.length; ++j) {
            if ((pay.piggybacks >> (4 + j)) & 1 == 1) utxos[pay.outputs[j]].locked = true;
        }
    }

    /// @dev What watchers do at once, because MoreVP needs them to: an exit of a competitor of an included payment is
    ///      challenged with it, and its input piggyback too (the input was spent by the included payment); a piggyback
    ///      on an output that was already spent is challenged with the spend.
    function _watch(uint256 p) internal {
        Payment storage pay = payments[p];
        if (pay.competitor != 0 && payments[pay.competitor - 1].included) {
            _challenge(p, 0);
            if (pay.piggybacks & 1 != 0) _challengeInputSpent(p, pay.competitor - 1, 0);
        }
        for (uint256 j; j < pay.outputs.length; ++j) {
            if ((pay.piggybacks >> (4 + j)) & 1 == 1 && utxos[pay.outputs[j]].state == State.Spent) {
                _challengeOutputSpent(p, j, 1);
            }
        }
    }

    /// @dev Challenge exit `p` with its competitor (if the rules allow it now), and, watching, answer at once a
    ///      challenge of an included payment.
    function _challenge(uint256 p, uint256 challengerSeed) internal {
        Payment storage pay = payments[p];
        Payment storage other = payments[pay.competitor - 1];
        if (block.timestamp >= _firstHalfEnd(pay.txHash)) return;
        (,,, uint256 recorded,,) = chain.getInFlightExit(pay.txHash);
        uint256 position = other.included ? other.txPos : type(uint64).max;
        if (recorded != 0 && position >= recorded) return;
        address challenger = actors[challengerSeed % 3];
        vm.prank(challenger);
        chain.challengeInFlightExitNotCanonical(
            _data(pay),
            0,
            IRootChain.Spend(other.txBytes, 0, other.sig),
            other.included ? other.txPos : 0,
            other.proof
        );
        pay.bondOwner = challenger;
        if (pay.included) {
            address responder = actors[(challengerSeed % 3 + 1) % 3];
            vm.prank(responder);
            chain.respondToNonCanonicalChallenge(_data(pay), pay.txPos, pay.proof);
            pay.bondOwner = responder;
        }
    }

    function _challengeInputSpent(uint256 p, uint256 q, uint256 challengerSeed) internal {
        Payment storage pay = payments[p];
        Payment storage other = payments[q];
        vm.prank(actors[challengerSeed % 3]);
        chain.challengeInFlightExitInputSpent(_data(pay), 0, IRootChain.Spend(other.txBytes, 0, other.sig));
        pay.piggybacks &= ~uint256(1);
        --heldPiggybackBonds;
    }

    function _challengeOutputSpent(uint256 p, uint256 j, uint256 challengerSeed) internal {
        Payment storage pay = payments[p];
        Utxo storage u = utxos[pay.outputs[j]];
        vm.prank(actors[challengerSeed % 3]);
        chain.challengeInFlightExitOutputSpent(
            pay.txBytes, pay.txPos, pay.proof, j, IRootChain.Spend(u.spendTx, 0, u.spendSig)
        );
        pay.piggybacks &= ~(1 << (4 + j));
        --heldPiggybackBonds;
        u.locked = false;
    }

    /// @dev The active exit whose entry is at the top of the queue of `tkn`.
    function _inFlightAtTop(address tkn, uint256 exitableAt, uint256 position)
        internal
        view
        returns (uint256)
    {
        for (uint256 p; p < payments.length; ++p) {
            Payment storage pay = payments[p];
            if (!pay.active || utxos[pay.input].token != tkn || utxos[pay.input].pos != position) continue;
            (uint256 at,,,,,) = chain.getInFlightExit(pay.txHash);
            if (at == exitableAt) return p;
        }
        revert("no in-flight exit for the top entry");
    }

    function _data(Payment storage pay) internal view returns (IRootChain.InFlightExit memory data) {
        Utxo storage input = utxos[pay.input];
        IRootChain.InFlightInput[] memory inputs = new IRootChain.InFlightInput[](1);
        inputs[0] = IRootChain.InFlightInput(keccak256(input.txBytes), input.owner, input.token, input.amount);
        return IRootChain.InFlightExit(pay.txBytes, inputs, pay.bondOwner);
    }

    function _firstHalfEnd(bytes32 txHash) internal view returns (uint256) {
        (uint256 exitableAt,,,,,) = chain.getInFlightExit(txHash);
        return exitableAt - mep / 2;
    }

    function _popcount(uint256 x) internal pure returns (uint256 n) {
        for (; x != 0; x >>= 1) {
            n += x & 1;
        }
    }
}

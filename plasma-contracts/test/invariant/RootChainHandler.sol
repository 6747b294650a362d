// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {IRootChain} from "../../src/interfaces/IRootChain.sol";
import {RootChain} from "../../src/RootChain.sol";
import {PaymentTx} from "../../src/libraries/PaymentTx.sol";
import {UtxoPos} from "../../src/libraries/UtxoPos.sol";
import {MockERC20} from "../mocks/Tokens.sol";
import {TogglingReceiver} from "../mocks/Receivers.sol";
import {MerkleTree} from "../utils/MerkleTree.sol";
import {TxLib} from "../utils/TxLib.sol";
import {Vm, vm} from "../utils/Vm.sol";

/// @notice Drives the root chain like an honest operator with honest and dishonest users: deposits (ETH and a
///         test ERC20), child-chain transfers in real operator blocks with real proofs, valid exits, invalid exits
///         of spent outputs that are challenged with the owner's EIP-712-signed spend, time warps, processing and
///         withdrawals. It keeps a model of every output and ghost flags for the invariants.
/// @dev Fees (docs/PROTOCOL.md): most ETH payments pay one (ETH in > ETH out), and an operator block whose payments
///      paid fees usually ends with the operator's fee claim of at most those fees (a fuzzed amount) to the fee
///      actor, a signing actor like the others. The claim's output is an ordinary output of the model (spent,
///      exited, exited after being spent and challenged); the fees left unclaimed belong to no output and stay in
///      the contract (`unclaimedFees`).
contract RootChainHandler {
    enum State {
        Unspent,
        Spent,
        Exiting,
        Finalized,
        Challenged,
        InFlight, // spent by a payment that was never included (its value is its group's)
        Pending // an output of a payment that was never included (its value is its group's)
    }

    struct Utxo {
        uint256 pos;
        address owner;
        uint256 ownerPk; // 0 for the contract receiver, which cannot sign
        address token;
        uint256 amount;
        State state;
        bytes txBytes;
        bytes proof;
        bytes spendTx; // the child-chain transaction that spent it (if Spent)
        bytes spendSig; // its owner's signature over spendTx
        uint256 exitPriority;
        uint256 group; // 0, or the conflict group whose value this output shares (see InFlightHandler)
        bool phantom; // an output of a double spend of an already spent input: worth nothing
        bool locked; // piggybacked: the operator refuses to spend it
        bool feeClaim; // the output of an operator block's fee claim
    }

    uint256 internal constant FEE_PK = 0xFEE0;

    RootChain public immutable chain;
    MockERC20 public immutable token;
    TogglingReceiver public immutable receiver;
    address public immutable operator;
    /// @notice The operator's fee address: the owner of every fee claim (an actor that signs, like the users).
    address public immutable feeAddress;
    uint256 public immutable bond;
    uint256 public immutable mep;

    uint256[] internal pks;
    address[] public actors; // signing users, then the receiver contract
    Utxo[] internal utxos;
    mapping(uint256 pos => uint256 indexPlusOne) internal indexOf;
    mapping(bytes32 outputId => uint256) public timesPaid;
    mapping(address token => uint256) public lastPaidPriority;
    mapping(address token => uint256) public lastPoppedPriority;

    bool public paidTwice;
    bool public paidOutOfOrder;
    bool public paidWrongly;
    uint256 public payouts;
    uint256 public challenges;
    /// @notice Standard exits whose bond the contract holds.
    uint256 public activeStandardExits;

    /// @notice Fees (wei) paid by the payments of committed operator blocks, and the part of them fee claims took.
    uint256 public feesPaid;
    uint256 public feesClaimed;
    /// @notice Fee claims committed; standard exits started of their outputs; fee outputs paid (by either kind of
    ///         exit), spent on the chain, exited after being spent and challenged.
    uint256 public feeClaims;
    uint256 public feeClaimExits;
    uint256 public feeClaimsPaid;
    uint256 public feeClaimsSpent;
    uint256 public feeClaimsChallenged;
    /// @notice A fee claim above its block's fees was built (never: the handler's operator is honest).
    bool public claimAboveFees;

    constructor(RootChain chain_, MockERC20 token_, address operator_) {
        chain = chain_;
        token = token_;
        operator = operator_;
        bond = chain_.exitBond();
        mep = chain_.minExitPeriod();
        receiver = new TogglingReceiver();
        for (uint256 i = 1; i <= 3; ++i) {
            uint256 pk = 0xA000 + i;
            pks.push(pk);
            actors.push(vm.addr(pk));
        }
        pks.push(FEE_PK); // the fee actor: index 3, after the users challengers are drawn from (`% 3`)
        feeAddress = vm.addr(FEE_PK);
        actors.push(feeAddress);
        actors.push(address(receiver));
    }

    // ================================================================ actions

    function depositEth(uint256 actorSeed, uint256 amount) external {
        address who = actors[actorSeed % actors.length];
        amount = chain.minDeposit() + amount % 10 ether;
        vm.deal(who, who.balance + amount);
        _makeRoomForDeposit();
        uint256 blknum = chain.nextDepositBlock();
        vm.prank(who);
        chain.deposit{value: amount}();
        _addDeposit(who, actorSeed % actors.length, address(0), amount, blknum);
    }

    function depositToken(uint256 actorSeed, uint256 amount) external {
        address who = actors[actorSeed % actors.length];
        amount = 1 + amount % 1e24;
        token.mint(who, amount);
        vm.prank(who);
        token.approve(address(chain), amount);
        _makeRoomForDeposit();
        uint256 blknum = chain.nextDepositBlock();
        vm.prank(who);
        chain.depositToken(address(token), amount);
        _addDeposit(who, actorSeed % actors.length, address(token), amount, blknum);
    }

    /// @notice Honest child-chain payments in one operator block: an unspent output is split between a recipient and
    ///         change, most ETH payments paying a fee; if `pair`, a second output is paid alike in the same block. A
    ///         block whose payments paid fees usually ends with the operator's fee claim.
    /// @param feeSeed the first payment's fee (`_fee`); the second's is derived from it.
    /// @param claimSeed the operator's claim (`_commitBlock`).
    function transfer(
        uint256 utxoSeed,
        uint256 toSeed,
        uint256 split,
        uint256 txIndex,
        uint256 feeSeed,
        uint256 claimSeed,
        bool pair
    ) external {
        uint256[] memory spent = _spendable(utxoSeed, pair);
        if (spent.length == 0) return;
        PaymentTx.Transaction[] memory txs = new PaymentTx.Transaction[](spent.length);
        bytes[] memory txBytes = new bytes[](spent.length);
        uint256 fees;
        for (uint256 k; k < spent.length; ++k) {
            if (k == 1) (toSeed, split, feeSeed) = (_mix(toSeed), _mix(split), _mix(feeSeed));
            Utxo storage u = utxos[spent[k]];
            uint256 fee = _fee(u, feeSeed);
            fees += fee;
            txs[k] = _split(u, toSeed, split, fee, bytes32(txIndex));
            txBytes[k] = TxLib.encode(txs[k]);
        }
        (uint256 blknum, uint256 first, bytes[] memory proofs) =
            _commitBlock(txBytes, txIndex, fees, claimSeed);
        for (uint256 k; k < spent.length; ++k) {
            _spend(spent[k], txs[k], txBytes[k], UtxoPos.encode(blknum, first + k, 0), proofs[k]);
        }
    }

    /// @dev The outputs a block of `transfer` spends: the one picked at `seed` (none if the operator refuses it:
    ///      piggybacked or exited), and if `pair` another one it accepts, picked at a seed derived from `seed`.
    function _spendable(uint256 seed, bool pair) internal view returns (uint256[] memory spent) {
        (bool found, uint256 i) = _pick(seed, State.Unspent, true);
        if (!found || utxos[i].locked || _exitedOutput(utxos[i])) return new uint256[](0);
        uint256 j;
        if (pair) (found, j) = _pick(_mix(seed), State.Unspent, true);
        if (!pair || !found || j == i || utxos[j].locked || _exitedOutput(utxos[j])) {
            spent = new uint256[](1);
        } else {
            spent = new uint256[](2);
            spent[1] = j;
        }
        spent[0] = i;
    }

    function _mix(uint256 seed) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed)));
    }

    /// @dev The payment of output `u`: `fee` wei less than `u`, split between an actor and change to its owner.
    function _split(Utxo storage u, uint256 toSeed, uint256 split, uint256 fee, bytes32 metadata)
        internal
        view
        returns (PaymentTx.Transaction memory)
    {
        uint256 value = u.amount - fee;
        uint256 a = value == 1 ? 1 : 1 + split % (value - 1);
        uint256[] memory inputs = new uint256[](1);
        inputs[0] = u.pos;
        PaymentTx.Output[] memory outputs = new PaymentTx.Output[](value == a ? 1 : 2);
        outputs[0] = TxLib.output(actors[toSeed % actors.length], u.token, a);
        if (outputs.length == 2) outputs[1] = TxLib.output(u.owner, u.token, value - a);
        return TxLib.payment(inputs, outputs, metadata);
    }

    /// @dev Output `i` is spent by `t` (`txBytes`), included at `txPos` with `proof`: its outputs are new outputs.
    function _spend(
        uint256 i,
        PaymentTx.Transaction memory t,
        bytes memory txBytes,
        uint256 txPos,
        bytes memory proof
    ) internal {
        Utxo storage u = utxos[i];
        u.state = State.Spent;
        u.spendTx = txBytes;
        u.spendSig = TxLib.sign(t, address(chain), u.ownerPk);
        if (u.feeClaim) ++feeClaimsSpent;
        for (uint256 k; k < t.outputs.length; ++k) {
            PaymentTx.Output memory o = t.outputs[k];
            _add(txPos + k, o.owner, _pkOf(_actorIndex(o.owner)), o.token, o.amount, txBytes, proof);
        }
    }

    /// @dev The fee a payment of `u` pays: none for a token (fees are ETH; tokens balance exactly) or a 1-wei output,
    ///      none for a quarter of the seeds (`seed % 4 == 3`), else `1 + (seed >> 2) % (amount / 2)` wei.
    function _fee(Utxo storage u, uint256 seed) internal view returns (uint256) {
        if (u.token != address(0) || u.amount < 2 || seed % 4 == 3) return 0;
        return 1 + (seed >> 2) % (u.amount / 2);
    }

    /// @dev Commit an operator block of the payments `txBytes` at consecutive leaves from `txIndex` (reduced so that
    ///      they fit) and, when they paid `fees` and the operator claims them, the fee claim at the next leaf, its
    ///      last, to the fee address with the block number as metadata: no claim if `claimSeed % 4 == 3`, all the
    ///      fees if `claimSeed % 4 == 0`, else `1 + (claimSeed >> 2) % fees` wei. The claim's output is recorded as
    ///      an ordinary output. Returns the block, the first payment's index and each payment's proof.
    function _commitBlock(bytes[] memory txBytes, uint256 txIndex, uint256 fees, uint256 claimSeed)
        internal
        returns (uint256 blknum, uint256 first, bytes[] memory proofs)
    {
        blknum = chain.nextChildBlock();
        uint256 claim =
            fees == 0 || claimSeed % 4 == 3 ? 0 : claimSeed % 4 == 0 ? fees : 1 + (claimSeed >> 2) % fees;
        uint256 n = txBytes.length + (claim == 0 ? 0 : 1);
        first = txIndex % (65_537 - n);
        uint256[] memory idx = new uint256[](n);
        bytes32[] memory leaves = new bytes32[](n);
        for (uint256 k; k < txBytes.length; ++k) {
            (idx[k], leaves[k]) = (first + k, MerkleTree.leaf(txBytes[k]));
        }
        bytes memory claimBytes;
        if (claim != 0) {
            PaymentTx.Output[] memory outputs = new PaymentTx.Output[](1);
            outputs[0] = TxLib.output(feeAddress, address(0), claim);
            claimBytes = TxLib.encode(TxLib.payment(new uint256[](0), outputs, bytes32(blknum)));
            (idx[n - 1], leaves[n - 1]) = (first + n - 1, MerkleTree.leaf(claimBytes));
        }
        bytes32 root;
        proofs = new bytes[](txBytes.length);
        for (uint256 k; k < txBytes.length; ++k) {
            (root, proofs[k]) = MerkleTree.rootAndProof(idx, leaves, first + k);
        }
        if (claim != 0) {
            bytes memory claimProof;
            (root, claimProof) = MerkleTree.rootAndProof(idx, leaves, first + n - 1);
            if (claim > fees) claimAboveFees = true;
            _add(
                UtxoPos.encode(blknum, first + n - 1, 0),
                feeAddress,
                FEE_PK,
                address(0),
                claim,
                claimBytes,
                claimProof
            );
            utxos[utxos.length - 1].feeClaim = true;
            feesClaimed += claim;
            ++feeClaims;
        }
        vm.prank(operator);
        chain.submitBlock(root);
        feesPaid += fees;
    }

    /// @notice A valid standard exit of an unspent output by its owner.
    function startExit(uint256 utxoSeed) external virtual {
        (bool found, uint256 i) = _pick(utxoSeed, State.Unspent, false);
        if (!found) return;
        _startExit(i);
    }

    /// @notice The fee address exits one of its fee outputs: a valid exit of an unspent one, or (if `spent`) an
    ///         invalid exit of one it spent, challenged at once with its signed spend. (The generic actions reach fee
    ///         outputs too, less often.)
    function exitFeeClaim(uint256 seed, bool spent, uint256 challengerSeed) external {
        uint256 n = utxos.length;
        for (uint256 k; k < n; ++k) {
            uint256 i = (seed % n + k) % n;
            Utxo storage u = utxos[i];
            if (!u.feeClaim || u.state != (spent ? State.Spent : State.Unspent)) continue;
            if (spent) _invalidExitAndChallenge(i, challengerSeed);
            else _startExit(i);
            return;
        }
    }

    function _startExit(uint256 i) internal {
        Utxo storage u = utxos[i];
        if (_exitedOutput(u)) return;
        vm.deal(u.owner, u.owner.balance + bond);
        vm.prank(u.owner);
        chain.startStandardExit{value: bond}(u.pos, u.txBytes, u.proof);
        u.state = State.Exiting;
        u.exitPriority = (_expectedExitableAt(u.pos) << 128) | u.pos;
        ++activeStandardExits;
        if (u.feeClaim) ++feeClaimExits;
        require(chain.nextExit(u.token) <= u.exitPriority, "queue top above new exit");
    }

    /// @notice A dishonest exit of an already spent output, challenged at once with the owner's signed spend.
    function invalidExitAndChallenge(uint256 utxoSeed, uint256 challengerSeed) external {
        (bool found, uint256 i) = _pick(utxoSeed, State.Spent, false);
        if (!found) return;
        _invalidExitAndChallenge(i, challengerSeed);
    }

    function _invalidExitAndChallenge(uint256 i, uint256 challengerSeed) internal {
        Utxo storage u = utxos[i];
        if (_exitedOutput(u)) return;
        vm.deal(u.owner, u.owner.balance + bond);
        vm.prank(u.owner);
        chain.startStandardExit{value: bond}(u.pos, u.txBytes, u.proof);
        address challenger = actors[challengerSeed % 3];
        uint256 before = challenger.balance;
        (uint256 nIn,) = _counts(u.spendTx);
        uint256 inputIndex;
        for (uint256 k; k < nIn; ++k) {
            if (_inputAt(u.spendTx, k) == u.pos) inputIndex = k;
        }
        vm.prank(challenger);
        chain.challengeStandardExit(u.pos, u.spendTx, inputIndex, u.spendSig);
        require(challenger.balance == before + bond, "bond not paid to challenger");
        u.state = State.Challenged;
        ++challenges;
        if (u.feeClaim) ++feeClaimsChallenged;
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + 1 + seconds_ % (3 * mep));
    }

    function processExits(uint256 tokenSeed, uint256 maxExits) external virtual {
        address tkn = tokenSeed % 2 == 0 ? address(0) : address(token);
        maxExits = 1 + maxExits % 8;
        for (uint256 n; n < maxExits; ++n) {
            if (!_checkTop(tkn)) return;
            vm.recordLogs();
            uint256 popped = chain.processExits(tkn, 1);
            _recordLogs(vm.getRecordedLogs(), tkn);
            if (popped == 0) return; // an in-flight entry is on top (see InFlightHandler)
        }
    }

    /// @dev Before a pop: the queue's top, in `nextExit`'s form, never below an entry popped before and popped only
    ///      once exitable. Returns false if nothing is exitable.
    function _checkTop(address tkn) internal returns (bool) {
        if (chain.exitQueueLength(tkn) == 0) return false;
        uint256 top = chain.nextExit(tkn);
        if (top >> 128 > block.timestamp) return false;
        if (top < lastPoppedPriority[tkn]) paidOutOfOrder = true;
        lastPoppedPriority[tkn] = top;
        return true;
    }

    /// @dev Account for the payouts a processing call logged.
    function _recordLogs(Vm.Log[] memory logs, address tkn) internal virtual {
        for (uint256 k; k < logs.length; ++k) {
            if (logs[k].emitter != address(chain)) continue;
            bytes32 topic = logs[k].topics[0];
            if (topic == IRootChain.ExitUnfunded.selector) paidWrongly = true; // never, with an honest operator
            if (topic != IRootChain.ExitFinalized.selector) continue;
            uint256 pos = uint256(logs[k].topics[1]);
            (address owner, address t, uint256 amount,) =
                abi.decode(logs[k].data, (address, address, uint256, bool));
            uint256 idx = indexOf[pos];
            if (idx == 0) {
                paidWrongly = true;
                continue;
            }
            Utxo storage u = utxos[idx - 1];
            if (u.owner != owner || u.token != t || u.amount != amount || t != tkn) paidWrongly = true;
            if (u.exitPriority < lastPaidPriority[tkn] || (u.exitPriority >> 128) > block.timestamp) {
                paidOutOfOrder = true;
            }
            lastPaidPriority[tkn] = u.exitPriority;
            --activeStandardExits;
            _paid(idx - 1, amount);
        }
    }

    /// @dev Output `i` was paid `amount` (by a standard or an in-flight exit): once, and only if it is worth it.
    function _paid(uint256 i, uint256 amount) internal virtual {
        Utxo storage u = utxos[i];
        // One output, one identity, whatever the kind of exit: its creating transaction and its index.
        if (++timesPaid[keccak256(abi.encode(keccak256(u.txBytes), u.pos % 10_000))] > 1) paidTwice = true;
        if (u.phantom || (u.state != State.Exiting && u.state != State.Unspent && u.group == 0)) {
            paidWrongly = true;
        }
        if (u.state == State.Finalized || u.state == State.Spent) paidWrongly = true;
        if (u.feeClaim) ++feeClaimsPaid;
        u.state = State.Finalized;
        amount;
        ++payouts;
    }

    /// @notice The contract receiver starts accepting ETH and pulls what failed payouts credited to it.
    function receiverWithdraw(bool open) external {
        receiver.setOpen(open);
        for (uint256 k; k < 2; ++k) {
            address tkn = k == 0 ? address(0) : address(token);
            if (chain.withdrawable(address(receiver), tkn) == 0) continue;
            if (!open && tkn == address(0)) continue;
            vm.prank(address(receiver));
            chain.withdraw(tkn);
        }
    }

    // ================================================================ model views for the invariants

    function utxoCount() external view returns (uint256) {
        return utxos.length;
    }

    function utxoAt(uint256 i)
        external
        view
        returns (uint256 pos, address token_, uint256 amount, State state)
    {
        Utxo storage u = utxos[i];
        return (u.pos, u.token, u.amount, u.state);
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    /// @notice Fees paid in committed operator blocks that no fee claim took: locked in the contract for good.
    function unclaimedFees() public view returns (uint256) {
        return feesPaid - feesClaimed;
    }

    function utxoIsFeeClaim(uint256 i) external view returns (bool) {
        return utxos[i].feeClaim;
    }

    /// @notice What the contract must hold in `tkn`: the outputs still worth something (unspent, exiting, and each
    ///         conflict group's unpaid value), the bonds it holds (ETH) and the credits it owes, plus (ETH) the fees no
    ///         fee claim took, which no output owns.
    function expectedBalance(address tkn) public view virtual returns (uint256 total) {
        for (uint256 i; i < utxos.length; ++i) {
            Utxo storage u = utxos[i];
            if (u.token != tkn || u.group != 0 || u.phantom) continue;
            if (u.state == State.Unspent || u.state == State.Exiting) total += u.amount;
        }
        if (tkn == address(0)) total += activeStandardExits * bond + _otherBonds() + unclaimedFees();
        for (uint256 a; a < actors.length; ++a) {
            total += chain.withdrawable(actors[a], tkn);
        }
        total += chain.withdrawable(address(this), tkn); // as a processor or challenger, it cannot take ETH
    }

    /// @dev Bonds other than standard exits' (the in-flight handler's).
    function _otherBonds() internal view virtual returns (uint256) {
        return 0;
    }

    // ================================================================ internals

    function _makeRoomForDeposit() internal {
        if (chain.nextDepositBlock() % 1000 == 0) {
            vm.prank(operator);
            chain.submitBlock(keccak256(abi.encode("empty", block.timestamp)));
        }
    }

    function _addDeposit(address who, uint256 actorIdx, address tkn, uint256 amount, uint256 blknum)
        internal
    {
        bytes memory txBytes = TxLib.encode(TxLib.depositTx(who, tkn, amount, blknum));
        (, bytes memory proof) = MerkleTree.single(MerkleTree.leaf(txBytes), 0);
        _add(UtxoPos.encode(blknum, 0, 0), who, _pkOf(actorIdx), tkn, amount, txBytes, proof);
    }

    function _add(
        uint256 pos,
        address owner,
        uint256 pk,
        address tkn,
        uint256 amount,
        bytes memory txBytes,
        bytes memory proof
    ) internal {
        utxos.push();
        Utxo storage u = utxos[utxos.length - 1];
        u.pos = pos;
        u.owner = owner;
        u.ownerPk = pk;
        u.token = tkn;
        u.amount = amount;
        u.txBytes = txBytes;
        u.proof = proof;
        indexOf[pos] = utxos.length;
    }

    function _pkOf(uint256 actorIdx) internal view returns (uint256) {
        return actorIdx < pks.length ? pks[actorIdx] : 0;
    }

    function _actorIndex(address who) internal view returns (uint256) {
        for (uint256 i; i < actors.length; ++i) {
            if (actors[i] == who) return i;
        }
        revert("unknown actor");
    }

    /// @dev The first output at or after `seed` in state `state` (and with a signing owner if `needSigner`).
    function _pick(uint256 seed, State state, bool needSigner) internal view returns (bool, uint256) {
        uint256 n = utxos.length;
        if (n == 0) return (false, 0);
        for (uint256 k; k < n; ++k) {
            uint256 i = (seed % n + k) % n;
            Utxo storage u = utxos[i];
            if (
                u.state == state && (!needSigner || u.ownerPk != 0)
                    && (state != State.Spent || u.ownerPk != 0)
            ) {
                return (true, i);
            }
        }
        return (false, 0);
    }

    /// @dev Whether the contract already closed this output to a new standard exit (exited in flight, or a standard
    ///      exit at some position).
    function _exitedOutput(Utxo storage u) internal view returns (bool) {
        (bool se, bool exited) = chain.outputExits(keccak256(u.txBytes), u.pos % 10_000);
        return se || exited;
    }

    function _expectedExitableAt(uint256 pos) internal view returns (uint256) {
        uint256 blknum = pos / 1e9;
        (, uint256 ts) = chain.getBlock(blknum);
        uint256 fromBlock = ts + (blknum % 1000 == 0 ? 2 * mep : mep);
        uint256 fromNow = block.timestamp + mep;
        return fromBlock > fromNow ? fromBlock : fromNow;
    }

    function _counts(bytes memory txBytes) internal pure returns (uint256 nIn, uint256 nOut) {
        PaymentTx.Transaction memory t = abi.decode(txBytes, (PaymentTx.Transaction));
        return (t.inputs.length, t.outputs.length);
    }

    function _inputAt(bytes memory txBytes, uint256 k) internal pure returns (uint256) {
        return abi.decode(txBytes, (PaymentTx.Transaction)).inputs[k];
    }
}

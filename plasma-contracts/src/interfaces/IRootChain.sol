// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @title IRootChain
/// @notice The Plasma root chain on L1: operator block commitments, deposits, and the standard exit game.
/// @dev Everything a client or watcher must follow is an event. An exit is identified by the position of
///      the output it exits (`exitId == utxoPos`, see docs/CONTRACTS.md). Blocks are stored in one slot each:
///      the high 224 bits of the Merkle root and the 32-bit L1 timestamp of the commitment.
interface IRootChain {
    /// @notice Life cycle of the exit of one output. An output leaves `None` at most once, ever.
    enum ExitStatus {
        /// No exit was ever started for this output.
        None,
        /// The exit is in the queue and may still be challenged.
        Active,
        /// The exit was paid out (or credited) or challenged; the output can never exit again.
        Closed
    }

    // ---------------------------------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------------------------------

    /// @notice A deposit created the one-transaction deposit block `blknum`.
    /// @dev The deposit transaction is `Transaction(1, [], [Output(1, owner, token, amount)], bytes32(blknum))`;
    ///      its block root is the depth-16 root with that transaction as the only leaf (index 0).
    /// @param owner The depositor, owner of the single output.
    /// @param token The deposited token, `address(0)` for ETH.
    /// @param blknum The deposit block number (between two operator blocks).
    /// @param amount The deposited amount.
    event DepositCreated(address indexed owner, address indexed token, uint256 blknum, uint256 amount);

    /// @notice The operator committed the child-chain block `blknum`.
    /// @param blknum The block number (a multiple of 1000).
    /// @param root The full Merkle root of the block's transactions.
    /// @param timestamp The L1 timestamp of the commitment (used for exit priority).
    event BlockSubmitted(uint256 blknum, bytes32 root, uint256 timestamp);

    /// @notice A standard exit of the output at `utxoPos` entered the queue of `token`.
    /// @param utxoPos The exiting output's position; also the exit id.
    /// @param owner The output's owner, who started the exit and posted the bond.
    /// @param token The output's token (`address(0)` for ETH), i.e. the exit queue it is in.
    /// @param amount The output's amount.
    /// @param exitableAt The time from which `processExits` may pay the exit.
    event ExitStarted(
        uint256 indexed utxoPos, address indexed owner, address token, uint256 amount, uint256 exitableAt
    );

    /// @notice The exit `utxoPos` was challenged with a signed spend of its output and deleted.
    /// @param utxoPos The exit id (the exiting output's position).
    /// @param challenger Who challenged and received the exit bond.
    event ExitChallenged(uint256 indexed utxoPos, address challenger);

    /// @notice The exit `utxoPos` was finalized by `processExits`.
    /// @param utxoPos The exit id (the exited output's position).
    /// @param owner The output's owner.
    /// @param token The output's token.
    /// @param amount The output's amount.
    /// @param paid True if `amount` was transferred to `owner`; false if the transfer failed and `amount`
    ///        was credited to `owner`'s withdrawable balance instead (see `withdraw`).
    event ExitFinalized(uint256 indexed utxoPos, address owner, address token, uint256 amount, bool paid);

    /// @notice The exit `utxoPos` was popped, but the contract's balance of `token` less the credits it owes could not
    ///         cover `amount` (or `amount` plus the bond overflowed): nothing was paid or credited, and the output can
    ///         never exit again. Only forged outputs (or a token that does not hold what it reports) get here: the
    ///         exits ahead of it in priority were paid first. The bond is still returned if it can be funded.
    /// @param utxoPos The exit id.
    /// @param owner The output's owner.
    /// @param token The output's token.
    /// @param amount The output's amount.
    event ExitUnfunded(uint256 indexed utxoPos, address owner, address token, uint256 amount);

    /// @notice A payout to `owner` failed and `amount` of `token` was credited to its withdrawable balance.
    event WithdrawalCredited(address indexed owner, address indexed token, uint256 amount);

    /// @notice `owner` pulled its whole withdrawable balance of `token`.
    event Withdrawn(address indexed owner, address indexed token, uint256 amount);

    // ---------------------------------------------------------------------------------------------
    // Errors
    // ---------------------------------------------------------------------------------------------

    /// @notice Constructor: the operator must be a non-zero address.
    error InvalidOperator(address operator);
    /// @notice Constructor: the minimum exit period must be in [1, 2^32) seconds.
    error InvalidMinExitPeriod(uint256 minExitPeriod);
    /// @notice Only the operator may submit blocks.
    error NotOperator(address caller);
    /// @notice The L1 timestamp no longer fits the 32-bit block record (after February 2106).
    error TimestampOverflow(uint256 timestamp);
    /// @notice 999 deposit blocks already follow the last operator block; wait for the next one.
    error TooManyDeposits(uint256 nextChildBlock);
    /// @notice The block would be numbered past `18,446,744,073`, the largest block number whose positions fit the
    ///         64-bit `utxoPos` (after operator block 18,446,744,000 the chain is full): its outputs could never exit.
    error BlockNumberOverflow(uint256 blknum);
    /// @notice A deposit of zero.
    error ZeroDeposit();
    /// @notice An ETH deposit below the deploy-time minimum (`minDeposit()`), which keeps dust from filling the 999
    ///         deposit slots between two operator blocks.
    error DepositTooSmall(uint256 amount, uint256 minDeposit);
    /// @notice `depositToken` needs a token contract; use `deposit()` for ETH.
    error InvalidToken(address token);
    /// @notice The contract received a different amount than requested (fee-on-transfer or rebasing token).
    error DepositAmountMismatch(uint256 expected, uint256 received);
    /// @notice `startStandardExit` must be sent exactly the exit bond.
    error InvalidBond(uint256 expected, uint256 received);
    /// @notice The position is not a well-formed output position (< 2^64, txIndex < 65536, outputIndex < 4).
    error InvalidUtxoPos(uint256 utxoPos);
    /// @notice No block was committed with this number.
    error BlockNotFound(uint256 blknum);
    /// @notice The output index is beyond the transaction's outputs.
    error OutputIndexOutOfRange(uint256 outputIndex, uint256 outputCount);
    /// @notice Only the output's owner may start its exit.
    error NotOutputOwner(address caller, address owner);
    /// @notice A zero-amount output cannot exit.
    error ZeroAmountExit(uint256 utxoPos);
    /// @notice The inclusion proof does not lead to the committed root of the block.
    error InvalidInclusionProof(uint256 utxoPos);
    /// @notice This output already exited (or is exiting, or its exit was challenged): once, ever.
    error ExitAlreadyStarted(uint256 utxoPos);
    /// @notice There is no active exit with this id.
    error ExitNotActive(uint256 utxoPos);
    /// @notice `inputIndex` is beyond the spending transaction's inputs.
    error InputIndexOutOfRange(uint256 inputIndex, uint256 inputCount);
    /// @notice The spending transaction's input at `inputIndex` is not the exiting output.
    error InputDoesNotSpendExit(uint256 input, uint256 utxoPos);
    /// @notice The signature is malformed or does not recover to the exit's owner.
    error InvalidSignature(address recovered, address owner);
    /// @notice Not enough gas left to give a payout its full gas allowance; send more gas.
    error InsufficientGas(uint256 gasLeft, uint256 required);
    /// @notice The caller has no withdrawable balance of this token.
    error NothingToWithdraw(address owner, address token);
    /// @notice `withdrawTo` needs a non-zero recipient.
    error InvalidRecipient(address to);
    /// @notice The ETH transfer of a withdrawal failed.
    error EthTransferFailed(address to, uint256 amount);

    // ---------------------------------------------------------------------------------------------
    // Blocks and deposits
    // ---------------------------------------------------------------------------------------------

    /// @notice Commit the next operator block (numbered `nextChildBlock()`); operator only.
    /// @dev Resets the deposit-block counter: the next deposit is numbered `blknum + 1`.
    function submitBlock(bytes32 root) external;

    /// @notice Deposit `msg.value` wei of ETH (at least `minDeposit()`) into a new deposit block owned by the caller.
    function deposit() external payable;

    /// @notice Deposit `amount` of the ERC20 `token` (pulled with transferFrom; approve first).
    function depositToken(address token, uint256 amount) external;

    // ---------------------------------------------------------------------------------------------
    // Exit game
    // ---------------------------------------------------------------------------------------------

    /// @notice Start the standard exit of the output at `utxoPos`, sending exactly `exitBond()` wei.
    /// @param utxoPos `blknum * 1e9 + txIndex * 1e4 + outputIndex` of the output; becomes the exit id.
    /// @param txBytes The canonical ABI encoding of the transaction that created the output.
    /// @param inclusionProof 16 sibling hashes (512 bytes), leaf level first, for leaf index `txIndex`.
    function startStandardExit(uint256 utxoPos, bytes calldata txBytes, bytes calldata inclusionProof)
        external
        payable;

    /// @notice Delete the active exit `utxoPos` by showing a transaction, EIP-712-signed by the exit's owner,
    ///         that spends the exiting output. The bond goes to the caller.
    /// @param utxoPos The exit id (the exiting output's position).
    /// @param spendingTxBytes The canonical encoding of the spending transaction (need not be included).
    /// @param inputIndex The index in `spendingTx.inputs` that equals `utxoPos`.
    /// @param signature 65 bytes r ‖ s ‖ v (v ∈ {27, 28}, low s) over the EIP-712 digest of the spend.
    function challengeStandardExit(
        uint256 utxoPos,
        bytes calldata spendingTxBytes,
        uint256 inputIndex,
        bytes calldata signature
    ) external;

    /// @notice Pay, in priority order, up to `maxExits` exits of `token` whose `exitableAt` has passed.
    /// @dev Every popped queue entry counts toward `maxExits`, including entries of challenged exits, which
    ///      are skipped. A failed transfer credits the owner's withdrawable balance instead of reverting.
    /// @return processed The number of queue entries popped.
    function processExits(address token, uint256 maxExits) external returns (uint256 processed);

    /// @notice Pull the caller's whole withdrawable balance of `token` (credited by failed payouts).
    function withdraw(address token) external;

    /// @notice Send the caller's whole withdrawable balance of `token` to `to`: for an owner that cannot receive
    ///         ETH (a contract without a payable fallback, e.g. the owner of token exits whose ETH bond was credited).
    /// @dev Emits `Withdrawn(caller, token, amount)`, like `withdraw`.
    function withdrawTo(address token, address to) external;

    // ---------------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------------

    /// @notice The operator allowed to submit blocks.
    function operator() external view returns (address);

    /// @notice The minimum exit period (MEP), in seconds.
    function minExitPeriod() external view returns (uint256);

    /// @notice The exact bond, in wei, that `startStandardExit` requires.
    function exitBond() external view returns (uint256);

    /// @notice The number the next operator block will get.
    function nextChildBlock() external view returns (uint256);

    /// @notice The smallest ETH deposit, in wei (deploy-time). Token deposits have no minimum: token units have no
    ///         common scale (see docs/CONTRACTS.md).
    function minDeposit() external view returns (uint256);

    /// @notice The number the next deposit block will get: `nextChildBlock() + 1` while the 999 slots after the
    ///         last operator block are full (deposits revert with `TooManyDeposits` until the operator's next block).
    function nextDepositBlock() external view returns (uint256);

    /// @notice The stored record of block `blknum`.
    /// @return rootPrefix The block root with its low 32 bits cleared (zero if there is no such block).
    /// @return timestamp The L1 timestamp of the commitment (zero if there is no such block).
    function getBlock(uint256 blknum) external view returns (bytes32 rootPrefix, uint256 timestamp);

    /// @notice Whether `root` matches the stored record of block `blknum` (its high 224 bits).
    function isBlockRoot(uint256 blknum, bytes32 root) external view returns (bool);

    /// @notice The state of the exit of the output at `utxoPos`.
    /// @return status None, Active or Closed.
    /// @return owner The exit's owner (zero if `None`).
    /// @return amount The exiting amount while `Active`, zero otherwise.
    function getExit(uint256 utxoPos) external view returns (ExitStatus status, address owner, uint256 amount);

    /// @notice Number of entries (including challenged ones not yet popped) in the exit queue of `token`.
    function exitQueueLength(address token) external view returns (uint256);

    /// @notice The smallest priority in the exit queue of `token`, or 0 if it is empty.
    /// @dev priority = exitableAt << 128 | utxoPos.
    function nextExit(address token) external view returns (uint256 priority);

    /// @notice The amount of `token` that `owner` can pull with `withdraw`.
    function withdrawable(address owner, address token) external view returns (uint256);

    /// @notice The EIP-712 digest a spender signs for `txBytes` (reverts if the bytes are not canonical).
    function txDigest(bytes calldata txBytes) external view returns (bytes32);
}
